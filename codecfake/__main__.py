import sys

from codecfake.app.cli import main

sys.exit(main())
