"""Media helpers: opening pictures, making thumbnails and previews."""
