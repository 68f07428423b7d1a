"""Pure renderers: Answer -> what one platform can show."""
