import sys

from secplane.cli import main

sys.exit(main())
