from setuptools import setup

# Everything else is in pyproject.toml; this file only hooks in the cffi build.
setup(cffi_modules=["csrc/build_ffi.py:ffibuilder"])
