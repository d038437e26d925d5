"""The open export: Hudoor's record as CSV files with a Frictionless Data Package descriptor.

`tables` says what is exported (the permitted fields only) and how each value is written;
`export` writes a package; `load` validates one and loads it into an empty instance.
"""
