"""What people read: the 廉情地图 report."""
