namespace Pdnn.Data;

public enum Split { Train, Test }
