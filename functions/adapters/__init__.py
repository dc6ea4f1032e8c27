"""One AWS/HTTP implementation of each port in `orders.ports`; handlers wire them up."""
