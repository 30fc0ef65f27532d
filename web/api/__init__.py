"""Every REST API view of /api/v1/, one module per area; web/api/urls.py is its one URL map."""
