"""codecfake.evaluate"""
