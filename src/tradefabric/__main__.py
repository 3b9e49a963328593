"""Allow ``python -m tradefabric``."""

from tradefabric.cli import main

main()
