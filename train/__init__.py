"""codecfake.train"""
