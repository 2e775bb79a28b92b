#!/bin/sh
# One-shot (docker-compose.yml minio-create-bucket): the bucket for materials' files, with
# versioning on (a replaced or deleted object keeps its earlier versions), and the app's own
# access key, allowed to read and write objects of that bucket only — never to delete them or
# to administer the store. Safe to run again: every step accepts what is already there.
set -eu

mc alias set store http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "store/$BUCKET"
mc version enable "store/$BUCKET"

sed "s/BUCKET/$BUCKET/g" /deploy/yuanzhu-files-policy.json > /tmp/policy.json
mc admin policy create store yuanzhu-files /tmp/policy.json
mc admin user add store "$APP_ACCESS_KEY" "$APP_SECRET_KEY"
mc admin policy attach store yuanzhu-files --user "$APP_ACCESS_KEY" 2>/dev/null || true
echo "bucket $BUCKET ready; the app's key may read and write objects, not delete them"
