"""Readers: files as users get them from USGS, IGN, ESA or INSEE, returned in the working CRS.

Readers know nothing about blocks; they return rasters (``xarray.DataArray``) and vector layers
(``GeoDataFrame``) with their CRS set, and raise :mod:`ilots.errors` exceptions on bad input.
"""
