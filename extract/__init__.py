"""codecfake.extract"""
