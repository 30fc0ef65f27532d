"""The web layer: every page (web/pages/), every API view (web/api/), the admin's estate pages, and the
access table that says who may use which route. Views are thin: they call the services below them."""
