"""Server-rendered pages (Jinja2) on top of the API's services: the officer's inbox, task
forms and the public application form. zh-CN by default."""
