__all__ = ['ttypes', 'constants', 'AllTypes']
