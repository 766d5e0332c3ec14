import sys

from codecfake.cli import main

sys.exit(main())
