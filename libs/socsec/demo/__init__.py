"""``socsec demo``: a synthetic but realistic year pushed through the running stack.

:mod:`world` draws the population from a seed (secretariats, employers, workers and what
happens to each of them during the year), :mod:`forms` turns it into the declarations real
clients send (Dimona over REST and in batch files, DmfA files and modifications), and
:mod:`runner` drives the stack through the year on the business clock, one journaled step at
a time, so that a second run on the same stack repeats nothing.
"""
