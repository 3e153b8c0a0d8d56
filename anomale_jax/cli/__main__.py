import sys

from anomale_jax.cli import main

sys.exit(main())
