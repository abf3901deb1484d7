"""The user's own data, kept beside the generations: favourites."""
