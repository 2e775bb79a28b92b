#!/bin/sh
# One-shot (service temporal-create-namespace): create the namespace the app uses, once, and
# wait until the frontend serves it (a new namespace takes a few seconds to reach the
# frontend's cache; workers started before that would fail their first polls).
set -eu

: "${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS}"
: "${NAMESPACE:?set NAMESPACE}"
RETENTION="${RETENTION:-720h}"

attempt=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 60 ]; then
        echo "error: Temporal at $TEMPORAL_ADDRESS is not healthy after 120 s" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --namespace "$NAMESPACE" \
    --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
else
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" \
        --description "Yuanzhu cases (就业困难人员认定与援助)" --address "$TEMPORAL_ADDRESS"
    echo "namespace $NAMESPACE created (retention $RETENTION)"
fi

attempt=0
until temporal workflow list --namespace "$NAMESPACE" --limit 1 \
    --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    attempt=$((attempt + 1))
    if [ "$attempt" -ge 30 ]; then
        echo "error: namespace $NAMESPACE is not served after 60 s" >&2
        exit 1
    fi
    sleep 2
done
echo "namespace $NAMESPACE ready"
