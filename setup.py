import sysconfig

from setuptools import setup

# Everything else is in pyproject.toml; this file hooks in the cffi build and
# tags the wheel. cffi's module uses only the stable ABI, so one cp310-abi3
# wheel serves every CPython >= 3.10. Free-threaded CPython (not supported yet:
# see pyproject.toml) has no stable ABI before 3.15, so a build there is tagged
# cp3XXt.
abi3 = not sysconfig.get_config_var("Py_GIL_DISABLED")
setup(
    cffi_modules=["csrc/build_ffi.py:ffibuilder"],
    options={"bdist_wheel": {"py_limited_api": "cp310"}} if abi3 else {},
)
