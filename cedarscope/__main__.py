"""`python -m cedarscope`: the cedarscope command line."""

from cedarscope.analyzer.entry import main

main()
