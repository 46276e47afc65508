from kernel_frontend import kernel  # noqa: F401  (the fixture, for every test here)
