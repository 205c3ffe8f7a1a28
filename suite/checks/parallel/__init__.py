"""Data-parallel training over N devices against one device, with must-fail faults."""
