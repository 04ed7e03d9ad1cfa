<?xml version="1.0"?>
<html><body>not a stylesheet</body></html>
