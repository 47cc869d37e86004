"""`python -m cedarscope`: the cedarscope command line."""

from cedarscope.analyzer.cli import main

main()
