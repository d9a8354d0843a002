__all__ = ['ttypes', 'constants', 'Bench']
