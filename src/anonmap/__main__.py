import sys

from anonmap.cli import main

sys.exit(main())
