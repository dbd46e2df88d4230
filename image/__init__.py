"""Device images, update bundles and flashing (issue 9): the recipe, the signed manifest, the field tools."""
