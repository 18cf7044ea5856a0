"""A minimal django-oscar shop with django-oscar-api, served as the established shop of the benchmarks."""
