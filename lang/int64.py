"""Cedar's Long: a signed 64-bit integer.  Arithmetic that leaves this
range is an overflow error in Cedar, never a wrap-around."""

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1
