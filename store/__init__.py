"""codecfake.store"""
