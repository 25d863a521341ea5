"""Reading a Function class: discovery, the forward and backward readers, the intermediate
description (ir) and its classification. Nothing here writes code or imports torch."""
