"""Address geocoding against the Base Adresse Nationale: normalise, match, place, reverse."""
