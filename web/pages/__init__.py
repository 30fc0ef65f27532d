"""Every page of the product, one module per area; web/pages/urls.py maps them."""
