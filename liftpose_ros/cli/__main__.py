"""`python -m liftpose_ros.cli ...` is the same as the `liftpose` command."""
import sys

from liftpose_ros.cli import main

sys.exit(main())
