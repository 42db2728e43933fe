"""The surge detector's evaluation on scripted and random scenarios (`vigie eval-surge`)."""
