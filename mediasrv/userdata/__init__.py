"""The user's own data beside the generations, in one database (store.py): stars, shares."""
