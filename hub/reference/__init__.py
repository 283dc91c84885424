"""Reference data: the city's sites (a gazetteer) and its district names."""
