pytest_plugins = ["tests.fixtures_services", "tests.fixtures_scenario"]
