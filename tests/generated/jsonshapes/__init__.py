__all__ = ['ttypes', 'constants', 'Shapes']
