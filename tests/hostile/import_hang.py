# Hangs while the module is imported.
while True:
    pass
