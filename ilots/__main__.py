from .cli import main

if __name__ == "__main__":  # not when a spawned worker (tiled builds) imports the main module again
    raise SystemExit(main())
