"""Where the examples put their PNG files, and how they carry on when no image library exists."""
import os


def picture_writer(out_dir, name):
    """dlcore.viz if matplotlib or Pillow is installed and out_dir is given, else None (the
    example then prints a one-line note and runs on). Creates out_dir."""
    if out_dir is None:
        return None
    from dlcore import viz
    if not viz.available_backends():
        print(f"{name}: no pictures written (pip install matplotlib or pillow to get them)")
        return None
    os.makedirs(out_dir, exist_ok=True)
    return viz
