"""Training and stepping, still without Qt: trainer loop, stepper with history, frozen Snapshots."""
