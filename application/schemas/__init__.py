"""Request and response schemas, one module per resource: the API's routes validate bodies and
queries with them and the pages check their forms with the same models, so a field's rules are
written once. The OpenAPI contract is generated from them."""
