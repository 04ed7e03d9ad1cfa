<?xml version="1.0" encoding="UTF-8"?>
<!-- A stylesheet may also write JSON text (method="text"). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/Person">{"family": "<xsl:value-of select="Name/Family"/>"}</xsl:template>
</xsl:stylesheet>
