"""Helpers the tests share: the worker and its faults, Kafka readers and writers,
schema checks, damaged payloads. Test modules import from here, never from each other."""
