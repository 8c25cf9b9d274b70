# Deletes a function the tests call.
del fetch_all
