"""One Locust user class per actor of the system, each in the module its name says."""
