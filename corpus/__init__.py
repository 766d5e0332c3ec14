"""codecfake.corpus"""
